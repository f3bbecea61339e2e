// Loaded first by `make test-js` (node --import): the page's modules are ES
// modules named .js, served as such to the browser; with no package.json
// beside them (frontend/ is published file for file) Node would read them as
// CommonJS. This hook tells Node they are modules. module.register needs
// Node 18.19 or 20.6.
import { register } from "node:module";

register("./frontend_hooks.mjs", import.meta.url);

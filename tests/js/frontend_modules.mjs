// Loaded first by `make test-js` (node --import), in every test process.
//
// The page's modules are ES modules named .js, served as such to the browser;
// with no package.json beside them (frontend/ is published file for file)
// Node would read them as CommonJS. The hook registered here tells Node they
// are modules (module.register: Node 18.19 or 20.6).
import { webcrypto } from "node:crypto";
import { register } from "node:module";

register("./frontend_hooks.mjs", import.meta.url);

// The page uses the browser's Web Crypto (crypto.getRandomValues, crypto.subtle):
// global from Node 19 on, not in Node 18 (Debian 12's).
globalThis.crypto ??= webcrypto;

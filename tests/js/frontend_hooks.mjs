// The loader hook registered by frontend_modules.mjs: frontend/**/*.js are ES modules.
const FRONTEND = new URL("../../frontend/", import.meta.url).href;

export async function load(url, context, nextLoad) {
  if (url.startsWith(FRONTEND) && url.endsWith(".js")) return nextLoad(url, { ...context, format: "module" });
  return nextLoad(url, context);
}

// Where the page finds its model folder (default ./model/, or ?model=URL);
// loading and checking it is hyperclip/web's loadModel.
export { loadModel, type WebModel } from 'hyperclip/web';

/** The model folder's URL: ?model=URL on the page, else the build's VITE_MODEL_URL, else ./model/. */
export function modelUrl(location: Location): string {
  const chosen = new URLSearchParams(location.search).get('model') ?? import.meta.env.VITE_MODEL_URL ?? './model/';
  const withSlash = chosen.endsWith('/') ? chosen : `${chosen}/`;
  return new URL(withSlash, location.href).href;
}

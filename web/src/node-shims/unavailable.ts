// Shared src/ modules import Node built-ins for file and hashing work that
// the page never does; their browser stand-ins fail loudly if that changes.
export function unavailable(what: string): () => never {
  return () => {
    throw new Error(`${what} is not available in the browser (a Node-only code path was reached from the web app)`);
  };
}

// The two live regions: a polite status line (what the page is doing) and
// an alert that names what went wrong and what to do.
export type PageState = 'loading' | 'idle' | 'busy' | 'ready' | 'error';

function element(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
}

export function showStatus(text: string, state: PageState): void {
  const status = element('status');
  status.textContent = text;
  status.dataset.state = state;
}

export function showError(message: string | null): void {
  const error = element('error');
  error.hidden = message === null;
  error.textContent = message ?? '';
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

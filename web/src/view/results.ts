// One classified image: its thumbnail, top-k bars and the time the
// classifier took for it. Errors for unreadable files use the same card.
import type { LabelScore } from 'hyperclip/web';

export interface ResultCard {
  item: HTMLLIElement;
  show(topk: LabelScore[], milliseconds: number): void;
  fail(message: string): void;
}

const percent = (p: number): string => `${(100 * p).toFixed(1)}%`;

export function addResultCard(list: HTMLElement, name: string, previewUrl: string | null): ResultCard {
  const item = document.createElement('li');
  item.className = 'result';
  const figure = document.createElement('div');
  figure.className = 'thumb';
  if (previewUrl !== null) {
    const img = document.createElement('img');
    img.src = previewUrl;
    img.alt = `Your image ${name}`;
    img.addEventListener('load', () => URL.revokeObjectURL(previewUrl), { once: true });
    figure.append(img);
  }
  const body = document.createElement('div');
  body.className = 'result-body';
  const title = document.createElement('h3');
  title.textContent = name;
  const detail = document.createElement('p');
  detail.className = 'muted';
  detail.textContent = 'Classifying…';
  const bars = document.createElement('ol');
  bars.className = 'bars';
  body.append(title, detail, bars);
  item.append(figure, body);
  list.prepend(item);
  return {
    item,
    show(topk, milliseconds) {
      const best = topk[0]!;
      item.dataset.label = best.label;
      detail.textContent = `${best.label} (${percent(best.probability)}), classified in ${milliseconds.toFixed(1)} ms`;
      bars.replaceChildren(...topk.map((s) => bar(s.label, s.probability)));
    },
    fail(message) {
      item.dataset.error = 'true';
      figure.replaceChildren(Object.assign(document.createElement('span'), { className: 'thumb-missing', textContent: '?' }));
      detail.textContent = message;
      detail.className = 'error-text';
      bars.replaceChildren();
    },
  };
}

function bar(label: string, probability: number): HTMLLIElement {
  const row = document.createElement('li');
  row.dataset.label = label;
  row.dataset.probability = String(probability);
  const name = document.createElement('span');
  name.className = 'bar-label';
  name.textContent = label;
  const track = document.createElement('span');
  track.className = 'bar-track';
  track.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'bar-fill';
  fill.style.width = percent(Math.max(0, Math.min(1, probability)));
  track.append(fill);
  const value = document.createElement('span');
  value.className = 'bar-value';
  value.textContent = percent(probability);
  row.append(name, track, value);
  return row;
}

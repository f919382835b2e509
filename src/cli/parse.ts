// Option parsers for commander: a wrong value is one readable line.
import { InvalidArgumentError } from 'commander';

// Decimal digits only: Number() would also take "", "0x10", "1e3" and " ".
export const integer = (name: string, min = 1, max = Number.MAX_SAFE_INTEGER) => (value: string): number => {
  const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`expected an integer ${range} for --${name} but received ${JSON.stringify(value)}`);
  }
  return n;
};

export const number = (name: string) => (value: string): number => {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number for --${name} but received ${JSON.stringify(value)}`);
  return n;
};

/** An option value checked by `parse` when the command line is parsed, and kept as typed (its error becomes commander's one line). */
export const checked = (parse: (value: string) => unknown) => (value: string): string => {
  try {
    parse(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
};

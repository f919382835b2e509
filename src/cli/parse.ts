// Option parsers for commander: a wrong value is one readable line.
import { InvalidArgumentError } from 'commander';

export const integer = (name: string, min = 1) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min} for --${name} but received "${value}"`);
  return n;
};

export const number = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number for --${name} but received "${value}"`);
  return n;
};

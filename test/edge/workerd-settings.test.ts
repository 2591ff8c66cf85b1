// The workerd worker's millisecond settings (PORTICO_*_MS bindings): a whole number of milliseconds or refused with
// one message naming the binding; a value in the Deno flag's form (`60s`) would otherwise be NaN, and every timer
// would fire at once.
import { describe, expect, it } from 'vitest';
import { millisecondsSetting, WorkerdConfigError } from '../../gateway/runtime/workerd-settings.ts';

describe('millisecondsSetting()', () => {
  it.each([
    ['absent: the default', undefined, 60_000],
    ['a whole number of milliseconds', '2000', 2_000],
  ])('%s', (_name, value, want) => {
    expect(millisecondsSetting('PORTICO_SEND_TIMEOUT_MS', value, 60_000)).toBe(want);
  });

  it.each([
    ['a duration in the flag form', '60s'],
    ['empty', ''],
    ['zero', '0'],
    ['negative', '-5'],
    ['a fraction', '1.5'],
    ['not a number', 'off'],
  ])('refuses %s', (_name, value) => {
    expect(() => millisecondsSetting('PORTICO_SEND_TIMEOUT_MS', value, 60_000)).toThrow(WorkerdConfigError);
    expect(() => millisecondsSetting('PORTICO_SEND_TIMEOUT_MS', value, 60_000)).toThrow(/^PORTICO_SEND_TIMEOUT_MS: /);
  });
});

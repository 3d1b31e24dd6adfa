import { describe, expect, it } from 'vitest';
import { negotiateFormat } from './negotiation.js';

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['application/xml', 'xml'],
    ['text/xml', 'xml'],
    ['*/*', 'json'],
    ['application/xml;q=0.5, application/json;q=0.9', 'json'],
    ['application/json;q=0.1, text/xml', 'xml'],
    ['text/html, application/xml;q=0.2', 'xml'],
    ['application/json;q=0, */*;q=0.1', 'json'],
    ['text/html', null],
    ['application/json;q=0', null],
  ])('when Accept is %s, then the format is %s', (accept, expected) => {
    expect(negotiateFormat(accept)).toBe(expected);
  });
});

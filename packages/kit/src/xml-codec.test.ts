import { describe, expect, it } from 'vitest';
import { coerceXmlToSchema, parseXmlBody, toXml } from './xml-codec.js';

const noRefs = () => undefined;

describe('parseXmlBody', () => {
  it('when the body declares a DOCTYPE, then it is refused before parsing', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>';
    expect(() => parseXmlBody(bomb)).toThrow(expect.objectContaining({ code: 'REQ_401' }));
  });

  it('when an element is named __proto__, then it is refused', () => {
    expect(() => parseXmlBody('<a><__proto__><admin>true</admin></__proto__></a>')).toThrow(expect.objectContaining({ code: 'REQ_402' }));
  });

  it('when nesting is deeper than the limit, then it is refused', () => {
    const deep = '<a>'.repeat(100) + 'x' + '</a>'.repeat(100);
    expect(() => parseXmlBody(deep)).toThrow(expect.objectContaining({ code: 'REQ_403' }));
  });

  it('when the XML is malformed, then a 400 error is raised', () => {
    expect(() => parseXmlBody('<a><b></a>')).toThrow(expect.objectContaining({ code: 'REQ_400' }));
  });

  it('when schema-coerced, then XML gives the object the JSON twin gives', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'integer' },
        ok: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string' } },
        points: { type: 'array', items: { type: 'object', properties: { v: { type: 'number' } } } },
      },
    };
    const parsed = parseXmlBody(
      '<Req><name>a &amp; b</name><count>42</count><ok>true</ok><tags><tag>x</tag></tags><points><point><v>1.5</v></point><point><v>2</v></point></points></Req>',
    );
    expect(coerceXmlToSchema(parsed, schema, noRefs)).toEqual({
      name: 'a & b',
      count: 42,
      ok: true,
      tags: ['x'],
      points: [{ v: 1.5 }, { v: 2 }],
    });
  });
});

describe('toXml', () => {
  it('when text contains markup, then it is escaped exactly once', () => {
    expect(toXml({ root: 'Organization' }, { name: '<b>&amp;</b>' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Organization><name>&lt;b&gt;&amp;amp;&lt;/b&gt;</name></Organization>',
    );
  });

  it('when the view names a list, then items become repeated children of the root', () => {
    const xml = toXml({ root: 'MediaItems', list: { key: 'items', item: 'MediaItem' } }, { items: [{ id: 1 }, { id: 2 }], next_cursor: null });
    expect(xml).toBe('<?xml version="1.0" encoding="UTF-8"?><MediaItems><MediaItem><id>1</id></MediaItem><MediaItem><id>2</id></MediaItem></MediaItems>');
  });
});

import { describe, expect, it } from 'vitest';
import { attachmentDisposition, MAX_FILE_NAME_BYTES, sanitizeFileName, storableOriginalName } from '../src/file-name.js';

describe('sanitizeFileName', () => {
  it.each([
    ['../../etc/passwd.png', 'passwd.png'],
    ['..\\..\\windows\\system32\\evil.png', 'evil.png'],
    ['C:\\Users\\ana\\Desktop\\ecg scan.pdf', 'ecg scan.pdf'],
    ['/absolute/path/x.gif', 'x.gif'],
    ['report\u0000.pdf', 'report.pdf'],
    ['line\r\nbreak.png', 'linebreak.png'],
    ['photo\u202Egnp.exe', 'photognp.exe'],
    ['a<b>c:d"e|f?g*h.png', 'a_b_c_d_e_f_g_h.png'],
    ['  spaced   out  .png  ', 'spaced out .png'],
    ['.hidden.png', 'hidden.png'],
    ['trailing dots...', 'trailing dots'],
    ['CON.png', '_CON.png'],
    ['lpt1', '_lpt1'],
    ['cafe\u0301.png', 'caf\u00e9.png'],
    ['100%#tag.png', '100__tag.png'],
  ])('when the name is %j, then it becomes %j', (input, expected) => {
    expect(sanitizeFileName(input)).toBe(expected);
  });

  it.each(['..', '.', '../', '///', '\u0000\u0001', '   ', '???'])('when nothing usable remains of %j, then the result is empty', (input) => {
    expect(sanitizeFileName(input)).toBe('');
  });

  it('when the name is longer than 255 bytes, then it is cut on a character boundary and keeps its extension', () => {
    const name = `${'é'.repeat(300)}.png`;
    const safe = sanitizeFileName(name);
    expect(Buffer.byteLength(safe, 'utf8')).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(safe.endsWith('.png')).toBe(true);
    expect(safe).not.toContain('\uFFFD');
    expect(safe.startsWith('é'.repeat(100))).toBe(true);
  });

  it('when the original name has NUL or a lone surrogate, then the stored original replaces just those', () => {
    expect(storableOriginalName('a\u0000b\uD800c.png')).toBe('a\uFFFDb\uFFFDc.png');
    expect(storableOriginalName('../x.png')).toBe('../x.png');
  });
});

describe('attachmentDisposition', () => {
  it('when the name is not ASCII, then filename* carries it exactly and filename an ASCII fallback', () => {
    expect(attachmentDisposition("électro (1)'s.pdf")).toBe(
      `attachment; filename="_lectro (1)'s.pdf"; filename*=UTF-8''%C3%A9lectro%20%281%29%27s.pdf`,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { normalizeContentType, sniffContentType } from '../src/content-sniffing.js';
import { decodeStrictBase64, decodedLength } from '../src/strict-base64.js';
import { GIF_BYTES, jpegLikeBytes, PDF_BYTES, pngBytes } from './support/sample-files.js';

describe('decodeStrictBase64', () => {
  it('when the text is canonical padded base64, then it passes and its decoded length is known without decoding', () => {
    for (const size of [1, 2, 3, 4, 5, 100]) {
      const bytes = Buffer.alloc(size, 0xab);
      const text = bytes.toString('base64');
      const decoded = decodeStrictBase64(text);
      expect(decoded.problem).toBeUndefined();
      expect(decoded.bytes!.equals(bytes)).toBe(true);
      expect(decodedLength(text)).toBe(size);
    }
  });

  it.each([
    ['', 'empty'],
    ['QUJD\n', 'length'],
    ['QUJ', 'length'],
    ['QU JD', 'length'],
    ['QUJDRA', 'length'],
    ['QU\nJ', 'alphabet'],
    ['QUJ*', 'alphabet'],
    ['QU-_', 'alphabet'],
    ['Q===', 'alphabet'],
    ['QU=D', 'alphabet'],
    ['=QUJ', 'alphabet'],
    ['QR==', 'padding'],
    ['QUJ=QUJD', 'alphabet'],
  ])('when the text is %j, then it is refused as %s', (text, problem) => {
    expect(decodeStrictBase64(text)).toEqual({ problem });
  });
});

describe('sniffContentType', () => {
  it('when the bytes start with a known magic number, then its type is named', () => {
    expect(sniffContentType(pngBytes())).toBe('image/png');
    expect(sniffContentType(jpegLikeBytes(64))).toBe('image/jpeg');
    expect(sniffContentType(GIF_BYTES)).toBe('image/gif');
    expect(sniffContentType(PDF_BYTES)).toBe('application/pdf');
    expect(sniffContentType(Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(20)]))).toBe('image/webp');
  });

  it('when the bytes are something else or too short, then no type is named', () => {
    expect(sniffContentType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(sniffContentType(Buffer.from([0x89, 0x50, 0x4e]))).toBeUndefined();
    expect(sniffContentType(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'))).toBeUndefined();
    expect(sniffContentType(Buffer.alloc(0))).toBeUndefined();
  });

  it('when a declared type has parameters or capitals, then it is compared in its plain form', () => {
    expect(normalizeContentType(' Image/PNG ; charset=binary')).toBe('image/png');
  });
});

/** The types whose leading bytes we can recognise; MEDIA_ALLOWED_TYPES must be a subset. */
export const SNIFFABLE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf'] as const;
export type SniffableType = (typeof SNIFFABLE_TYPES)[number];

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);
const GIF87 = Buffer.from('GIF87a', 'latin1');
const GIF89 = Buffer.from('GIF89a', 'latin1');
const RIFF = Buffer.from('RIFF', 'latin1');
const WEBP = Buffer.from('WEBP', 'latin1');
const PDF = Buffer.from('%PDF-', 'latin1');

function startsWith(bytes: Buffer, signature: Buffer, offset = 0): boolean {
  return bytes.length >= offset + signature.length && bytes.subarray(offset, offset + signature.length).equals(signature);
}

/** Names the type the bytes' magic number announces, or undefined when it is none we know. */
export function sniffContentType(bytes: Buffer): SniffableType | undefined {
  if (startsWith(bytes, PNG)) return 'image/png';
  if (startsWith(bytes, JPEG)) return 'image/jpeg';
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) return 'image/gif';
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return 'image/webp';
  if (startsWith(bytes, PDF)) return 'application/pdf';
  return undefined;
}

/** "Image/PNG; charset=binary" → "image/png": parameters carry nothing we store. */
export function normalizeContentType(declared: string): string {
  return declared.split(';')[0]!.trim().toLowerCase();
}

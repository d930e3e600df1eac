// Reads the EXIF orientation tag of a JPEG: the only EXIF fact the editor needs, so no library.

/** The EXIF orientation (1-8) of JPEG bytes; 1 when absent, unreadable or not a JPEG. */
export function jpegOrientation(buffer) {
  const view = new DataView(buffer);
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return 1;
  let offset = 2;
  while (offset + 4 <= view.byteLength) {
    const marker = view.getUint16(offset);
    if ((marker & 0xff00) !== 0xff00) return 1;
    const length = view.getUint16(offset + 2);
    // APP1 holding "Exif\0\0"; any start-of-scan means the headers are over.
    if (marker === 0xffe1 && offset + 10 <= view.byteLength && view.getUint32(offset + 4) === 0x45786966) {
      return tiffOrientation(view, offset + 10, Math.min(view.byteLength, offset + 2 + length));
    }
    if (marker === 0xffda) return 1;
    offset += 2 + length;
  }
  return 1;
}

function tiffOrientation(view, start, end) {
  if (start + 8 > end) return 1;
  const order = view.getUint16(start);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  const ifd = start + view.getUint32(start + 4, little);
  if (ifd + 2 > end) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i += 1) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

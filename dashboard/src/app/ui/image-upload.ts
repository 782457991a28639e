/** Larger files are re-encoded before upload: the daemon's default http.bodyLimit is 1 MiB, and base64 adds a third. */
const MAX_BYTES = 600 * 1024;
const MAX_SIDE = 1600;

/**
 * A chosen image file as a data: URL the face plugin accepts. A large photo is scaled to at most
 * 1600 pixels a side and re-encoded as JPEG in the browser, so a phone's 5 MB photo still fits the
 * request limit; boxes then come back in the scaled image's pixels, which is what the page shows.
 */
export async function imageForUpload(file: File): Promise<string> {
  if (!/^image\/(jpeg|png|webp)$/.test(file.type)) throw new Error(`${file.name} is not a JPEG, PNG or WebP image (it is ${file.type || "of an unknown type"})`);
  if (file.size <= MAX_BYTES) return readAsDataUrl(file);
  const bitmap = await createImageBitmap(file).catch(() => {
    throw new Error(`${file.name} cannot be decoded as an image (damaged or truncated?)`);
  });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d")!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.toDataURL("image/jpeg", 0.9);
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error(`cannot read ${file.name}: ${r.error?.message ?? "unknown error"}`));
    r.readAsDataURL(file);
  });
}

// Reads one PNG or JPEG with c2pa-ts and prints what it judged, as one JSON line:
// {"isValid", "statusEntries": [{code, url, explanation, success}], "assertions": [labels]}
// or {"error": ...} when the file is not one it reads. No network: c2pa-ts validates locally.
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';

// Node 18 (Debian's) has WebCrypto only under node:crypto; c2pa-ts looks for the global,
// so it is set before c2pa-ts is loaded.
if (!globalThis.crypto) globalThis.crypto = webcrypto;
const { JPEG, PNG } = await import('@trustnxt/c2pa-ts/asset');
const { SuperBox } = await import('@trustnxt/c2pa-ts/jumbf');
const { ManifestStore, ValidationResult } = await import('@trustnxt/c2pa-ts/manifest');

const data = new Uint8Array(await readFile(process.argv[2]));
const asset = PNG.canRead(data) ? new PNG(data) : JPEG.canRead(data) ? new JPEG(data) : null;
if (asset === null) {
  console.log(JSON.stringify({ error: 'not a PNG or JPEG' }));
  process.exit(0);
}
const jumbf = asset.getManifestJUMBF();
if (!jumbf) {
  console.log(JSON.stringify({ error: 'no C2PA manifest' }));
  process.exit(0);
}
let result;
let assertions = [];
try {
  const store = ManifestStore.read(SuperBox.fromBuffer(jumbf));
  assertions = store.getActiveManifest()?.assertions?.assertions?.map((a) => a.label) ?? [];
  result = await store.validate(asset);
} catch (e) {
  result = ValidationResult.fromError(e);
}
console.log(JSON.stringify({ isValid: result.isValid, statusEntries: result.statusEntries, assertions }));

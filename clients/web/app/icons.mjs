// The app's icons, drawn at build time as PNGs (no binary files in the repository): a
// white sync ring with two arrowheads on the app's blue. "any" icons have rounded
// corners; the maskable one fills the square and keeps the glyph inside the 80 % safe zone.
import { deflateSync } from 'node:zlib';

const crcTable = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(size, rgba) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function inTriangle(px, py, [a, b, c]) {
  const s = (p1, p2, p3) => (p1[0] - p3[0]) * (p2[1] - p3[1]) - (p2[0] - p3[0]) * (p1[1] - p3[1]);
  const p = [px, py];
  const d1 = s(p, a, b);
  const d2 = s(p, b, c);
  const d3 = s(p, c, a);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

// Coverage of the glyph at a point of the unit square (0..1).
function glyph(x, y, scale) {
  const cx = 0.5;
  const cy = 0.5;
  const dx = (x - cx) / scale;
  const dy = (y - cy) / scale;
  const r = Math.hypot(dx, dy);
  const ang = Math.atan2(dy, dx); // -pi..pi, 0 to the right, y down
  const ring = r > 0.24 && r < 0.34;
  // Two gaps in the ring (upper right and lower left) where the arrowheads sit.
  const gap = (a0) => {
    let d = ang - a0;
    while (d > Math.PI) d -= 2 * Math.PI;
    while (d < -Math.PI) d += 2 * Math.PI;
    return d > 0 && d < 0.55;
  };
  if (ring && !gap(-Math.PI / 2) && !gap(Math.PI / 2)) return true;
  // Arrowheads: triangles pointing along the ring, clockwise.
  const head = (a0) => {
    const ux = Math.cos(a0);
    const uy = Math.sin(a0);
    const tx = -uy; // clockwise tangent (y down)
    const ty = ux;
    const base = [ux * 0.29, uy * 0.29];
    const w = 0.13;
    const l = 0.16;
    return [
      [base[0] + ux * w, base[1] + uy * w],
      [base[0] - ux * w, base[1] - uy * w],
      [base[0] + tx * l, base[1] + ty * l],
    ];
  };
  return inTriangle(dx, dy, head(-Math.PI / 2 - 0.02)) || inTriangle(dx, dy, head(Math.PI / 2 - 0.02));
}

export function icon(size, { maskable = false } = {}) {
  const rgba = Buffer.alloc(size * size * 4);
  const bg = [11, 79, 148];
  const radius = maskable ? 0 : 0.18;
  const scale = maskable ? 0.78 : 1;
  const ss = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let inside = 0;
      let white = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          const qx = Math.max(radius - x, 0, x - (1 - radius));
          const qy = Math.max(radius - y, 0, y - (1 - radius));
          if (radius > 0 && Math.hypot(qx, qy) > radius) continue;
          inside++;
          if (glyph(x, y, scale)) white++;
        }
      }
      const n = ss * ss;
      const i = (py * size + px) * 4;
      const a = inside / n;
      const w = inside ? white / inside : 0;
      rgba[i] = Math.round(bg[0] + (255 - bg[0]) * w);
      rgba[i + 1] = Math.round(bg[1] + (255 - bg[1]) * w);
      rgba[i + 2] = Math.round(bg[2] + (255 - bg[2]) * w);
      rgba[i + 3] = Math.round(255 * a);
    }
  }
  return png(size, rgba);
}

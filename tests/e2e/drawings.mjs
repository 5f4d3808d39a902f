// What the tests draw with real pointer input: paths in CSS pixels from a pad's centre.

/** An ellipse of radii `rx`, `ry`, from the top, clockwise: a zero. */
export const ring = (rx, ry, n = 24) => Array.from({ length: n + 1 }, (_, i) => [rx * Math.sin((2 * Math.PI * i) / n), -ry * Math.cos((2 * Math.PI * i) / n)]);

/** Capitals as pen paths in a 100×100 box (y down), as a person draws them. */
export const arc = (cx, cy, rx, ry, from, to, n = 24) =>
  Array.from({ length: n + 1 }, (_, i) => {
    const a = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy - ry * Math.sin(a)];
  });
export const VOWELS = {
  A: [[[14, 96], [50, 6], [86, 96]], [[30, 62], [70, 62]]],
  E: [[[80, 6], [22, 6], [22, 94], [80, 94]], [[22, 50], [68, 50]]],
  I: [[[50, 6], [50, 94]], [[30, 6], [70, 6]], [[30, 94], [70, 94]]],
  O: [arc(50, 50, 36, 44, 90, 450)],
  U: [[[18, 6], [18, 60], ...arc(50, 60, 32, 34, 180, 360), [82, 6]]],
};

/** Fills in points every few units, as pointer moves come. */
export function sampled(path) {
  const out = [path[0]];
  for (let i = 1; i < path.length; i++) {
    const [a, b] = [path[i - 1], path[i]];
    const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / 6));
    for (let s = 1; s <= steps; s++) out.push([a[0] + ((b[0] - a[0]) * s) / steps, a[1] + ((b[1] - a[1]) * s) / steps]);
  }
  return out;
}

/** The `variant`th hand-drawn copy of a letter: its own size, slant and place on the pad. */
export function drawnLetter(letter, variant) {
  const size = [1.3, 1.0, 1.6][variant % 3];
  const slant = [0, 0.15, -0.1][variant % 3];
  const at = [[0, 0], [-20, 10], [15, -12]][variant % 3];
  return VOWELS[letter].map((path) =>
    sampled(path).map(([x, y]) => [at[0] + size * (x - 50 - slant * (y - 50)), at[1] + size * (y - 50)]));
}

// The benchmark's peer, loaded into the latentlab page: latentlab's decoder rebuilt in
// TensorFlow.js from the same weights (exported by `latentlab export-decoder`).
// burn keeps NCHW tensors and PyTorch-style padding; this uses tfjs's NHWC ops with
// explicit padding and crops, and checks itself against latentlab.decode.
window.buildPeerDecoder = function buildPeerDecoder(tf, parameters) {
  const p = Object.fromEntries(parameters.map((a) => [a.name, tf.tensor(a.values, a.shape)]));
  // burn dense [in, out] = tfjs matMul layout; transposed conv [in, out, kh, kw] →
  // tfjs [kh, kw, out, in]; conv [out, in, kh, kw] → tfjs [kh, kw, in, out].
  const upFilters = ['up1', 'up2', 'up3'].map((n) => tf.transpose(p[`${n}.weight`], [2, 3, 1, 0]));
  const upBiases = ['up1', 'up2', 'up3'].map((n) => p[`${n}.bias`]);
  const pixelFilter = tf.transpose(p['to_pixels.weight'], [2, 3, 1, 0]);
  const bottleneck = p['up1.weight'].shape[0];
  const side = Math.round(Math.sqrt(p['dense.weight'].shape[1] / bottleneck));
  const decode = (z) => tf.tidy(() => {
    const n = z.shape[0];
    let x = tf.add(tf.matMul(z, p["dense.weight"]), p["dense.bias"]);
    x = tf.transpose(tf.reshape(x, [n, bottleneck, side, side]), [0, 2, 3, 1]);
    for (let i = 0; i < 3; i++) {
      const inSide = x.shape[1];
      const out = upFilters[i].shape[2];
      // "valid" gives 2·in + 1; PyTorch-style padding 1 / output padding 1 keeps [1, 2·in + 1).
      x = tf.conv2dTranspose(x, upFilters[i], [n, 2 * inSide + 1, 2 * inSide + 1, out], 2, 'valid');
      x = tf.relu(tf.add(tf.slice(x, [0, 1, 1, 0], [n, 2 * inSide, 2 * inSide, out]), upBiases[i]));
    }
    x = tf.add(tf.conv2d(x, pixelFilter, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), p['to_pixels.bias']);
    const pad = (x.shape[1] - 28) / 2;
    return tf.sigmoid(tf.slice(x, [0, pad, pad, 0], [n, 28, 28, 1]));
  });
  return decode;
};

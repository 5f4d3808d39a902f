// The benchmark's peers, loaded into the latentlab page: latentlab's networks rebuilt in
// TensorFlow.js from the same parameters (exported by `latentlab export-decoder` and
// `latentlab export-training-check`). burn keeps NCHW tensors and PyTorch-style padding;
// this uses tfjs's NHWC ops with explicit padding and crops.

/** burn's layout → tfjs's: dense [in, out] is the same; convolution [out, in, kh, kw] →
 *  [kh, kw, in, out] and transposed convolution [in, out, kh, kw] → [kh, kw, out, in]. */
function inTfjsLayout(tf, array) {
  const tensor = tf.tensor(array.values, array.shape);
  return array.shape.length === 4 ? tf.transpose(tensor, [2, 3, 1, 0]) : tensor;
}

const SAME_SIDE = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** Latent points [n, latent] → logits [n, 28, 28, 1]; `p` maps the decoder's names to tensors. */
function decoderLogits(tf, p, z) {
  const n = z.shape[0];
  let x = tf.add(tf.matMul(z, p['dense.weight']), p['dense.bias']);
  if (p['hidden_to_pixels.weight']) {
    x = tf.add(tf.matMul(tf.relu(x), p['hidden_to_pixels.weight']), p['hidden_to_pixels.bias']);
    return tf.reshape(x, [n, 28, 28, 1]);
  }
  const bottleneck = p['up1.weight'].shape[3];
  const side = Math.round(Math.sqrt(p['dense.weight'].shape[1] / bottleneck));
  x = tf.transpose(tf.reshape(x, [n, bottleneck, side, side]), [0, 2, 3, 1]);
  for (const up of ['up1', 'up2', 'up3']) {
    const inSide = x.shape[1];
    const filter = p[`${up}.weight`];
    const out = filter.shape[2];
    // "valid" gives 2·in + 1; PyTorch-style padding 1 / output padding 1 keeps [1, 2·in + 1).
    x = tf.conv2dTranspose(x, filter, [n, 2 * inSide + 1, 2 * inSide + 1, out], 2, 'valid');
    x = tf.relu(tf.add(tf.slice(x, [0, 1, 1, 0], [n, 2 * inSide, 2 * inSide, out]), p[`${up}.bias`]));
  }
  x = tf.add(tf.conv2d(x, p['to_pixels.weight'], 1, SAME_SIDE), p['to_pixels.bias']);
  const pad = (x.shape[1] - 28) / 2;
  return tf.slice(x, [0, pad, pad, 0], [n, 28, 28, 1]);
}

/** Images [n, 28, 28, 1] in [0, 1] → [μ, log σ²], each [n, latent]. */
function encoderMoments(tf, p, images) {
  const n = images.shape[0];
  let features;
  if (p['hidden.weight']) {
    features = tf.relu(tf.add(tf.matMul(tf.reshape(images, [n, 784]), p['hidden.weight']), p['hidden.bias']));
  } else {
    // The convolutional network works on the image padded to 32×32.
    let x = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]]);
    for (const conv of ['conv1', 'conv2', 'conv3']) {
      x = tf.relu(tf.add(tf.conv2d(x, p[`${conv}.weight`], 2, SAME_SIDE), p[`${conv}.bias`]));
    }
    // burn flattens channel by channel (NCHW).
    features = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]);
  }
  const dense = (name) => tf.add(tf.matMul(features, p[`${name}.weight`]), p[`${name}.bias`]);
  return [dense('to_mean'), dense('to_log_var')];
}

/** The decoder alone (parameters of `export-decoder`): z [n, latent] → pixels in [0, 1]. */
window.buildPeerDecoder = function buildPeerDecoder(tf, parameters) {
  const p = Object.fromEntries(parameters.map((a) => [a.name, inTfjsLayout(tf, a)]));
  return (z) => tf.tidy(() => tf.sigmoid(decoderLogits(tf, p, z)));
};

/**
 * latentlab's training step in tfjs, from a training check (`export-training-check`): the
 * same parameters as variables, the same loss (Σ BCE over the pixels + β·KL, averaged
 * over the batch) and Adam with the same settings.
 */
window.buildPeerTrainer = function buildPeerTrainer(tf, check) {
  const variables = {};
  for (const array of check.parameters) variables[array.name] = tf.variable(inTfjsLayout(tf, array));
  const part = (prefix) => Object.fromEntries(Object.entries(variables)
    .filter(([name]) => name.startsWith(prefix)).map(([name, v]) => [name.slice(prefix.length), v]));
  const encoder = part('encoder.');
  const decoder = part('decoder.');
  const optimizer = tf.train.adam(check.learning_rate, check.adam.beta1, check.adam.beta2, check.adam.epsilon);
  const imageCount = check.images.length / 784;
  const batchCount = Math.floor(imageCount / check.batch);

  const lossTerms = (images, noise) => {
    const [mean, logVar] = encoderMoments(tf, encoder, images);
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), noise));
    const logits = decoderLogits(tf, decoder, z);
    // BCE(x, t) = max(x, 0) − x·t + log(1 + e^−|x|), as latentlab computes it.
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, images)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const n = images.shape[0];
    const reconstruction = tf.div(tf.sum(bce), n);
    const kl = tf.div(tf.mul(tf.sum(tf.sub(tf.sub(tf.add(tf.exp(logVar), tf.square(mean)), logVar), 1)), 0.5), n);
    return { reconstruction, kl };
  };
  const batch = (index) => {
    const start = (index % batchCount) * check.batch;
    const bytes = check.images.slice(start * 784, (start + check.batch) * 784);
    return tf.tidy(() => tf.div(tf.tensor4d(bytes, [check.batch, 28, 28, 1], 'float32'), 255));
  };
  const step = async (images, noise) => {
    const cost = optimizer.minimize(() => {
      const { reconstruction, kl } = lossTerms(images, noise);
      return tf.add(reconstruction, tf.mul(kl, check.beta));
    }, true, Object.values(variables));
    const [value] = await cost.data();
    cost.dispose();
    return value;
  };
  const terms = async (images, noise) => {
    const { reconstruction, kl } = tf.tidy(() => lossTerms(images, noise));
    const values = { reconstruction: (await reconstruction.data())[0], kl: (await kl.data())[0] };
    tf.dispose([reconstruction, kl]);
    return values;
  };
  return {
    /** The check: the batch's loss terms before and after one step with the check's ε. */
    async check() {
      const images = batch(0);
      const noise = tf.tensor2d(check.noise, [check.batch, check.latent]);
      const before = await terms(images, noise);
      const stepLoss = await step(images, noise);
      const after = await terms(images, noise);
      tf.dispose([images, noise]);
      return { before, stepLoss, after };
    },
    /** One training step on batch `index` (cycling through the images) with fresh noise. */
    async train(index) {
      const images = batch(index);
      const noise = tf.randomNormal([check.batch, check.latent]);
      const loss = await step(images, noise);
      tf.dispose([images, noise]);
      return loss;
    },
    dispose() {
      tf.dispose(Object.values(variables));
      optimizer.dispose();
    },
  };
};

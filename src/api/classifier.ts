/**
 * The classifier behind `loadModel`: a session plus the model's preprocessing recipe and
 * labels. `classify` takes encoded images or decoded pixels, runs them in batches of the
 * session's size and returns the top classes; `run` is the raw tensor interface. No file
 * system and no Deno-only APIs: this runs in edge functions.
 *
 * @module
 */

import type { Session } from "../executor/session.ts";
import { allocData, type Graph, sizeOf, type Tensor, type ValueInfo } from "../graph/types.ts";
import { decodeImage } from "../image/decode.ts";
import type { ImageLimits, RgbImage } from "../image/image.ts";
import { imagesToTensor } from "../image/preprocess.ts";
import type { ImagePreprocess } from "../weights/preprocess.ts";
import { type ClassScore, dequantize, probabilityRows, type ScoreKind, topK } from "./scores.ts";

/** An image to classify: encoded JPEG or PNG bytes, or decoded 8-bit RGB pixels. */
export type ImageInput = Uint8Array | RgbImage;

/** Options of {@link Classifier.classify}. */
export interface ClassifyOptions {
  /** How many classes to return, most probable first; default 5 (capped at the class count). */
  top?: number;
}

/** The classification of one image. */
export interface Classification {
  /** The most probable classes, most probable first (equal probabilities: lower index first). */
  top: ClassScore[];
}

/**
 * A loaded image classifier, from {@link loadModel}.
 *
 * @example
 * ```ts
 * const model = await loadModel("https://example.com/resnet50/manifest.json");
 * const { top } = await model.classify(await (await fetch(photoUrl)).bytes(), { top: 3 });
 * console.log(top[0].label, top[0].probability);
 * model.dispose();
 * ```
 */
export interface Classifier {
  /** The model's name, from its manifest. */
  readonly name: string;
  /** The backend running the model now. */
  readonly backend: "gpu" | "cpu";
  /** Why an `auto` classifier runs on the CPU although a GPU was tried; absent otherwise. */
  readonly fallbackReason?: string;
  /** The WebGPU adapter used or tried, when one was. */
  readonly adapter?: string;
  /** Images per model run; `classify` splits longer lists into runs of this size. */
  readonly batch: number;
  /** The model's graph inputs (what `run` takes). */
  readonly inputs: readonly ValueInfo[];
  /** The model's graph outputs (what `run` returns); `classify` reads the first. */
  readonly outputs: readonly ValueInfo[];
  /** Number of classes, when the first output's shape fixes it. */
  readonly classes?: number;
  /** Class names in output index order, when the model has them. */
  readonly labels?: readonly string[];
  /** The recipe turning an image into the model input; `classify` needs one. */
  readonly preprocess?: ImagePreprocess;
  /** Whether the first output holds logits (softmax is applied) or probabilities. */
  readonly scoreKind: ScoreKind;
  /** Classifies one image. */
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Classification>;
  /** Classifies several images, in order, `batch` at a time. */
  classify(images: readonly ImageInput[], options?: ClassifyOptions): Promise<Classification[]>;
  /**
   * Runs the model on tensors named as {@link Classifier.inputs}, with the batch size of the
   * classifier; returns every output by name. Runs are queued, never overlapped.
   */
  run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  /** Frees the model's GPU memory (after queued runs finish); later calls throw. */
  dispose(): void;
}

/** What the classifier is made of; see {@link createClassifier}. */
export interface ClassifierParts {
  /** The session running the graph. */
  session: Session;
  /** The loaded (unfused) graph: inputs, outputs and the ops behind the output. */
  graph: Graph;
  /** Model name. */
  name: string;
  /** Session batch size. */
  batch: number;
  /** What the first output holds. */
  scoreKind: ScoreKind;
  /** Preprocessing recipe, when known. */
  preprocess?: ImagePreprocess;
  /** Class names, when known. */
  labels?: readonly string[];
  /** Decoder limits for encoded images. */
  imageLimits?: Partial<ImageLimits>;
}

/**
 * Number of classes the output `info` holds per batch row (the product of its dims after the
 * first), or undefined when a symbolic dim leaves it open.
 */
export function classCount(info: ValueInfo): number | undefined {
  const dims = info.shape.slice(1);
  return dims.every((d) => typeof d === "number") ? sizeOf(dims as number[]) : undefined;
}

/** Makes the {@link Classifier} over a session (labels are assumed to fit the output). */
export function createClassifier(parts: ClassifierParts): Classifier {
  return new SessionClassifier(parts);
}

class SessionClassifier implements Classifier {
  readonly name: string;
  readonly batch: number;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly classes?: number;
  readonly labels?: readonly string[];
  readonly preprocess?: ImagePreprocess;
  readonly scoreKind: ScoreKind;
  #session: Session;
  #imageLimits: Partial<ImageLimits>;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #disposed = false;

  constructor(parts: ClassifierParts) {
    this.name = parts.name;
    this.batch = parts.batch;
    this.inputs = parts.graph.inputs;
    this.outputs = parts.graph.outputs;
    this.scoreKind = parts.scoreKind;
    this.preprocess = parts.preprocess;
    this.#session = parts.session;
    this.#imageLimits = parts.imageLimits ?? {};
    this.classes = this.outputs[0] && classCount(this.outputs[0]);
    this.labels = parts.labels;
  }

  get backend(): "gpu" | "cpu" {
    return this.#session.backend;
  }

  get fallbackReason(): string | undefined {
    return this.#session.fallbackReason;
  }

  get adapter(): string | undefined {
    return this.#session.adapter;
  }

  classify(image: ImageInput, options?: ClassifyOptions): Promise<Classification>;
  classify(images: readonly ImageInput[], options?: ClassifyOptions): Promise<Classification[]>;
  async classify(
    images: ImageInput | readonly ImageInput[],
    options: ClassifyOptions = {},
  ): Promise<Classification | Classification[]> {
    this.#checkOpen();
    const top = options.top ?? 5;
    if (!Number.isInteger(top) || top < 1) {
      throw new RangeError(`top must be a positive integer, got ${top}`);
    }
    const { input, recipe } = this.#imageInput();
    const list = isImageList(images) ? images : [images];
    const results: Classification[] = [];
    // Decoded one batch at a time, so that a long list never holds every image's pixels.
    for (let start = 0; start < list.length; start += this.batch) {
      const chunk = list.slice(start, start + this.batch).map((image, i) =>
        toRgb(image, this.#imageLimits, list.length, start + i)
      );
      const tensor = padBatch(imagesToTensor(chunk, recipe, input.quant), this.batch);
      const rows = this.#probabilities(await this.run({ [input.name]: tensor }));
      for (const row of rows.slice(0, chunk.length)) {
        results.push({ top: topK(row, top, this.labels) });
      }
    }
    return isImageList(images) ? results : results[0];
  }

  run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    this.#checkOpen();
    this.#pending++;
    const result = this.#queue.then(() => this.#session.run(inputs)).finally(() => {
      this.#pending--;
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#pending === 0) this.#session.dispose();
    else this.#queue.then(() => this.#session.dispose());
  }

  #checkOpen(): void {
    if (this.#disposed) {
      throw new Error(`Model "${this.name}" was disposed; load it again to use it`);
    }
  }

  /** The one image input and the recipe for it, or an error saying what is missing. */
  #imageInput(): { input: ValueInfo; recipe: ImagePreprocess } {
    if (this.inputs.length !== 1) {
      throw new Error(
        `Model "${this.name}" has ${this.inputs.length} inputs ` +
          `(${this.inputs.map((i) => i.name).join(", ")}); classify needs exactly one image input`,
      );
    }
    if (!this.preprocess) {
      throw new Error(
        `Model "${this.name}" has no preprocess recipe in its manifest; pass ` +
          `options.preprocess to loadModel to classify images with it`,
      );
    }
    return { input: this.inputs[0], recipe: this.preprocess };
  }

  /** Class probabilities per batch row of the first output. */
  #probabilities(outputs: Record<string, Tensor>): Float64Array[] {
    const info = this.outputs[0];
    const tensor = outputs[info.name];
    const [rows, ...rest] = tensor.shape;
    const spatial = rest.slice(1);
    if (rows !== this.batch || rest.length === 0 || spatial.some((d) => d !== 1)) {
      throw new Error(
        `Model "${this.name}" output "${info.name}" has shape [${tensor.shape}], not ` +
          `[${this.batch}, classes] (or [${this.batch}, classes, 1, 1]); it is not an image ` +
          `classifier`,
      );
    }
    return probabilityRows(dequantize(tensor, info.quant), rows, this.scoreKind);
  }
}

/** True for a list of images, false for one image (pixels or bytes). */
function isImageList(images: ImageInput | readonly ImageInput[]): images is readonly ImageInput[] {
  return Array.isArray(images);
}

/** Decodes bytes (naming the list position in errors when there are several) or checks pixels. */
function toRgb(
  image: ImageInput,
  limits: Partial<ImageLimits>,
  count: number,
  index: number,
): RgbImage {
  const where = count > 1 ? `Image ${index} of ${count}: ` : "";
  if (image instanceof Uint8Array) {
    try {
      return decodeImage(image, limits);
    } catch (err) {
      if (where !== "" && err instanceof Error) err.message = where + err.message;
      throw err;
    }
  }
  const { width, height, data } = image;
  const valid = Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0;
  if (!valid || !(data instanceof Uint8Array) || data.length !== width * height * 3) {
    const bytes = data instanceof Uint8Array ? `${data.length} bytes` : `data ${typeof data}`;
    throw new TypeError(
      `${where}RGB image ${width}x${height} has ${bytes}; it needs positive integer sizes and ` +
        `width * height * 3 bytes`,
    );
  }
  return image;
}

/** `tensor` ([k, ...]) padded with zero rows to `batch` rows. */
function padBatch(tensor: Tensor, batch: number): Tensor {
  const rows = tensor.shape[0];
  if (rows === batch) return tensor;
  const data = allocData(tensor.dtype, (tensor.data.length / rows) * batch);
  data.set(tensor.data);
  return { ...tensor, shape: [batch, ...tensor.shape.slice(1)], data };
}

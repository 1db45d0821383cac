/**
 * The textures a GPU session makes for kernels' operand copies (src/shaders/texel_rows.ts):
 * derived values kept as textures, and scratch textures, which the session shares among its
 * nodes the way the arena shares scratch buffers: nodes run one after another and a scratch
 * value lives within its node, so one texture per (format, scratch index), as large as the
 * largest use, serves every node.
 *
 * @module
 */

import type { GpuDerivedBuffer, GpuPlan } from "../ops/op.ts";
import { texelBytes, type TexelFormat, texelRowsExtent } from "../shaders/texel_rows.ts";

/** Something a session creates on the device and destroys with it. */
export type GpuResource = GPUBuffer | GPUTexture;

/**
 * Creates a texture of `texels` texels of `format` in rows (`texelRowsExtent`), usable as a
 * write-only storage texture and a sampled texture, plus `usage`; throws naming `label` when
 * it needs more rows than the device allows.
 */
export function createTexelRows(
  device: GPUDevice,
  format: TexelFormat,
  texels: number,
  label: string,
  usage = 0,
): GPUTexture {
  const [width, height] = texelRowsExtent(texels);
  if (height > device.limits.maxTextureDimension2D) {
    throw new Error(
      `${label}: ${texels} texels need ${height} texture rows; the device allows ` +
        `${device.limits.maxTextureDimension2D}`,
    );
  }
  return device.createTexture({
    label,
    size: [width, height],
    format,
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | usage,
  });
}

/** Creates derived buffer `d` of a node: a storage buffer, or a texture where `d.texture` is set. */
export function createDerived(device: GPUDevice, d: GpuDerivedBuffer, label: string): GpuResource {
  if (d.texture) return createTexelRows(device, d.texture, d.bytes / texelBytes(d.texture), label);
  return device.createBuffer({ label, size: Math.max(4, d.bytes), usage: GPUBufferUsage.STORAGE });
}

/**
 * A texture like `createTexelRows`'s whose every byte is 0xFF (NaN in the float formats, an
 * all-ones word in rgba32uint), for tests: a kernel that reads a texel its producer never
 * wrote shows.
 */
export function createPoisonedTexture(
  device: GPUDevice,
  format: TexelFormat,
  texels: number,
  label: string,
): GPUTexture {
  const texture = createTexelRows(device, format, texels, label, GPUTextureUsage.COPY_DST);
  const bytesPerRow = texture.width * texelBytes(format);
  device.queue.writeTexture(
    { texture },
    new Uint8Array(bytesPerRow * texture.height).fill(0xff),
    { bytesPerRow },
    [texture.width, texture.height],
  );
  return texture;
}

/** The binding of a buffer (whole) or texture (its default view). */
export function resourceBinding(resource: GpuResource): GPUBindingResource {
  return resource instanceof GPUTexture ? resource.createView() : { buffer: resource };
}

/** Key of the shared scratch texture for scratch `index` of `format`. */
function scratchKey(format: TexelFormat, index: number): string {
  return `${format} ${index}`;
}

/** The shared scratch textures of a session's node plans (module doc). */
export class ScratchTextures {
  #textures = new Map<string, GPUTexture>();

  /** Creates one texture per (format, index) the `plans` use, each passed to `track`. */
  constructor(
    device: GPUDevice,
    plans: Iterable<GpuPlan>,
    track: (texture: GPUTexture) => GPUTexture,
  ) {
    const texels = new Map<string, { format: TexelFormat; texels: number }>();
    for (const plan of plans) {
      plan.scratchTextures?.forEach((format, i) => {
        if (!format) return;
        const key = scratchKey(format, i);
        const need = plan.scratchBytes![i] / texelBytes(format);
        texels.set(key, { format, texels: Math.max(need, texels.get(key)?.texels ?? 0) });
      });
    }
    for (const [key, t] of texels) {
      this.#textures.set(
        key,
        track(createTexelRows(device, t.format, t.texels, `scratch texture ${key}`)),
      );
    }
  }

  /** Total bytes of the textures. */
  get bytes(): number {
    let sum = 0;
    for (const t of this.#textures.values()) {
      sum += t.width * t.height * texelBytes(t.format as TexelFormat);
    }
    return sum;
  }

  /** The texture for scratch `index` of `plan`, or undefined where that scratch is a buffer. */
  of(plan: GpuPlan, index: number): GPUTexture | undefined {
    const format = plan.scratchTextures?.[index];
    return format && this.#textures.get(scratchKey(format, index));
  }
}

/**
 * Moving tensors between host and GPU storage buffers, in the layout every WGSL kernel
 * assumes: flat row-major, 8-bit types packed four per u32, sizes rounded up to 4 bytes.
 *
 * @module
 */

import { allocData, DTYPE_BYTES, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";

/** Byte size of a storage buffer holding a tensor of `type` (a multiple of 4, at least 4). */
export function storageBytes(type: TensorType): number {
  const bytes = sizeOf(type.shape) * DTYPE_BYTES[type.dtype];
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/** Creates a storage buffer holding `tensor`'s bytes. */
export function uploadTensor(device: GPUDevice, tensor: Tensor, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: storageBytes(tensor),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  const src = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  new Uint8Array(buffer.getMappedRange()).set(src);
  buffer.unmap();
  return buffer;
}

/**
 * Creates a storage buffer for a tensor of `type` filled with a poison pattern (0xFF bytes:
 * NaN for f32, -1 for integers), so that elements a kernel forgets to write are caught.
 */
export function createPoisonedBuffer(
  device: GPUDevice,
  type: TensorType,
  label: string,
): GPUBuffer {
  const size = storageBytes(type);
  const buffer = device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).fill(0xff);
  buffer.unmap();
  return buffer;
}

/** Copies `buffer` back to the host as a tensor of `type`. */
export async function readTensor(
  device: GPUDevice,
  buffer: GPUBuffer,
  type: TensorType,
): Promise<Tensor> {
  const size = storageBytes(type);
  const staging = device.createBuffer({
    label: "readback",
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder({ label: "readback" });
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const bytes = new Uint8Array(staging.getMappedRange()).slice();
  staging.unmap();
  staging.destroy();
  const data = allocData(type.dtype, sizeOf(type.shape));
  new Uint8Array(data.buffer).set(bytes.subarray(0, data.byteLength));
  return { ...type, shape: [...type.shape], data };
}

/** Packs program uniforms into a uniform buffer (padded to a multiple of 16 bytes). */
export function createUniformBuffer(
  device: GPUDevice,
  words: Uint32Array,
  label: string,
): GPUBuffer {
  const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
  const buffer = device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint32Array(buffer.getMappedRange()).set(words);
  buffer.unmap();
  return buffer;
}

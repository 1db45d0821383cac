/**
 * The execution plan both executors follow: the schedule (the graph's node order), the
 * liveness of every value, and where each value lives.
 *
 * Storage: a value produced by a `view` op shares its source's storage (and keeps it alive).
 * Every other value is the root of a storage:
 * - graph inputs and initializers have their own buffers (written by the host); initializers
 *   that nothing reads are left out of the plan;
 * - a storage that holds a graph output (itself or through a view) gets its own buffer, so
 *   results never move and the arena holds intermediates only;
 * - every other storage, and every per-node scratch buffer, gets an offset in an arena.
 *
 * Arena placement is greedy by size with best fit over the address gaps left by storages
 * whose lifetimes overlap; offsets are aligned for storage-buffer binding offsets. The arena
 * is made of several buffers: WebGPU forbids one buffer bound read-only and read-write in
 * the same dispatch, so a node's inputs never share an arena buffer with its outputs (nor a
 * scratch buffer with any other binding of its node), and no arena buffer grows past
 * `maxArenaBytes`.
 *
 * @module
 */

import type { Graph, Node, TensorType } from "../graph/types.ts";
import { checkNodeOrder } from "../graph/shape_inference.ts";
import { opFor } from "../ops/registry.ts";
import { storageBytes } from "./gpu_buffers.ts";

/** Where a storage lives. */
export type StorageKind = "input" | "initializer" | "output" | "arena";

/** A piece of memory that one or more values share (a root value and its views). */
export interface Storage {
  /** The root value's name, or `<node>#scratch<i>` for a scratch buffer. */
  id: string;
  /** Where it lives. */
  kind: StorageKind;
  /** Byte size (a multiple of 4). */
  bytes: number;
  /** Step that writes it; -1 for inputs and initializers. */
  defStep: number;
  /** Last step that reads it; the step count for storages needed until the end. */
  lastUse: number;
  /** Index of the arena buffer, for `kind: "arena"`. */
  arena?: number;
  /** Byte offset in that arena buffer, for `kind: "arena"`. */
  offset?: number;
}

/** One value of the graph in the plan. */
export interface PlannedValue {
  /** Value name. */
  name: string;
  /** Concrete type. */
  type: TensorType;
  /** Id of the storage holding its data. */
  storage: string;
  /** Step that produces it; -1 for inputs and initializers. */
  defStep: number;
  /** Last step that reads this value itself; the step count for graph outputs. */
  lastUse: number;
}

/** Memory figures of a plan, in bytes. */
export interface MemoryReport {
  /** Total size of the arena buffers. */
  plannedBytes: number;
  /** Max over steps of the bytes of arena storages live at that step: no plan does better. */
  lowerBoundBytes: number;
  /** Bytes of the initializers the graph reads. */
  weightBytes: number;
  /**
   * Bytes of the scratch textures a GPU session shares among its nodes, outside the arena
   * (src/executor/gpu_textures.ts); absent where there are none.
   */
  scratchTextureBytes?: number;
}

/** A complete plan for one graph at one set of shapes. */
export interface ExecutionPlan {
  /** Nodes in execution order; step `i` runs `schedule[i]`. */
  schedule: Node[];
  /** Whether step `i` is a view (no work, output 0 aliases input 0). */
  isView: boolean[];
  /** Every value by name (initializers that nothing reads are left out). */
  values: Map<string, PlannedValue>;
  /** Every storage by id. */
  storages: Map<string, Storage>;
  /** Scratch storage ids by node name, in the node's scratch order. */
  scratch: Map<string, string[]>;
  /** Size of each arena buffer in bytes. */
  arenaBytes: number[];
  /** The memory figures. */
  memory: MemoryReport;
}

/** Options of `planExecution`. */
export interface PlanOptions {
  /** Alignment of arena offsets in bytes; default 256 (WebGPU's storage offset alignment). */
  alignment?: number;
  /** Largest arena buffer in bytes (the device's maxBufferSize); default unlimited. */
  maxArenaBytes?: number;
  /** Scratch buffer sizes in bytes by node name (GPU kernels' temporaries). */
  scratch?: ReadonlyMap<string, readonly number[]>;
  /** Which nodes are views; default: the op registry's `view` flag. */
  isView?: (node: Node) => boolean;
}

/**
 * Plans `graph` with the concrete `types` of all its values (from `inferGraphTypes`).
 *
 * @example
 * ```ts
 * const plan = planExecution(graph, inferGraphTypes(graph, { batch: 1 }));
 * console.log(plan.memory.plannedBytes, plan.memory.lowerBoundBytes);
 * ```
 */
export function planExecution(
  graph: Graph,
  types: ReadonlyMap<string, TensorType>,
  options: PlanOptions = {},
): ExecutionPlan {
  checkNodeOrder(graph);
  const schedule = graph.nodes;
  const isViewNode = options.isView ?? ((node: Node) => opFor(node).view === true);
  const isView = schedule.map(isViewNode);
  const { values, storages, scratch } = liveness(graph, types, isView, options.scratch);

  const arenaStorages = [...storages.values()].filter((s) => s.kind === "arena");
  const arenaBytes = placeInArenas(
    arenaStorages,
    arenaConflicts(schedule, isView, values, storages, scratch),
    options.alignment ?? 256,
    options.maxArenaBytes ?? Infinity,
  );
  const weightBytes = [...storages.values()]
    .filter((s) => s.kind === "initializer")
    .reduce((sum, s) => sum + s.bytes, 0);
  return {
    schedule,
    isView,
    values,
    storages,
    scratch,
    arenaBytes,
    memory: {
      plannedBytes: arenaBytes.reduce((a, b) => a + b, 0),
      lowerBoundBytes: liveBytesBound(arenaStorages, schedule.length),
      weightBytes,
    },
  };
}

/**
 * Values and storages of the graph with their lifetimes: views join their source's storage,
 * storages holding graph outputs become `output`, initializers nothing reads are dropped.
 */
function liveness(
  graph: Graph,
  types: ReadonlyMap<string, TensorType>,
  isView: boolean[],
  scratchSizes: ReadonlyMap<string, readonly number[]> | undefined,
) {
  const schedule = graph.nodes;
  const end = schedule.length;
  const values = new Map<string, PlannedValue>();
  const storages = new Map<string, Storage>();

  const addValue = (name: string, defStep: number, storage: string) => {
    const type = types.get(name);
    if (!type) throw new Error(`Value "${name}" has no inferred type`);
    values.set(name, { name, type, storage, defStep, lastUse: defStep });
  };
  const addStorage = (id: string, kind: StorageKind, bytes: number, defStep: number) =>
    storages.set(id, { id, kind, bytes, defStep, lastUse: defStep });

  for (const [name, tensor] of graph.initializers) {
    addValue(name, -1, name);
    addStorage(name, "initializer", storageBytes(tensor), -1);
  }
  for (const input of graph.inputs) {
    addValue(input.name, -1, input.name);
    addStorage(input.name, "input", storageBytes(values.get(input.name)!.type), -1);
  }
  const scratch = new Map<string, string[]>();
  schedule.forEach((node, step) => {
    for (const name of node.inputs) {
      if (name !== "") values.get(name)!.lastUse = step;
    }
    node.outputs.forEach((name, i) => {
      if (name === "") return;
      if (isView[step] && i === 0) {
        const source = values.get(node.inputs[0]);
        if (!source) throw new Error(`View node "${node.name}" has no input to alias`);
        addValue(name, step, source.storage);
        const bytes = storageBytes(values.get(name)!.type);
        if (bytes !== storageBytes(source.type)) {
          throw new Error(
            `View node "${node.name}" changes the size of "${source.name}" from ` +
              `${storageBytes(source.type)} to ${bytes} bytes`,
          );
        }
      } else {
        addValue(name, step, name);
        addStorage(name, "arena", storageBytes(values.get(name)!.type), step);
      }
    });
    const sizes = scratchSizes?.get(node.name) ?? [];
    scratch.set(
      node.name,
      sizes.map((bytes, i) => {
        const id = `${node.name}#scratch${i}`;
        addStorage(id, "arena", storageBytes({ dtype: "u8", shape: [bytes] }), step);
        return id;
      }),
    );
  });
  for (const output of graph.outputs) values.get(output.name)!.lastUse = end;
  for (const name of graph.initializers.keys()) {
    if (values.get(name)!.lastUse >= 0) continue;
    values.delete(name);
    storages.delete(name);
  }
  for (const value of values.values()) {
    const storage = storages.get(value.storage)!;
    storage.lastUse = Math.max(storage.lastUse, value.lastUse);
  }
  for (const output of graph.outputs) {
    const storage = storages.get(values.get(output.name)!.storage)!;
    if (storage.kind === "arena") storage.kind = "output";
  }
  for (const storage of storages.values()) {
    if (storage.kind === "input" || storage.kind === "initializer") storage.lastUse = end;
  }
  return { values, storages, scratch };
}

/**
 * Pairs of arena storages that one dispatch may bind read-only and read-write at once and
 * that must therefore sit in different arena buffers: each input against each output of a
 * node, and each scratch buffer against every other storage of its node.
 */
function arenaConflicts(
  schedule: Node[],
  isView: boolean[],
  values: Map<string, PlannedValue>,
  storages: Map<string, Storage>,
  scratch: Map<string, string[]>,
): Map<string, Set<string>> {
  const conflicts = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (a === b || storages.get(a)!.kind !== "arena" || storages.get(b)!.kind !== "arena") return;
    for (const [x, y] of [[a, b], [b, a]]) {
      let set = conflicts.get(x);
      if (!set) conflicts.set(x, set = new Set());
      set.add(y);
    }
  };
  schedule.forEach((node, step) => {
    if (isView[step]) return;
    const storageOf = (name: string) => values.get(name)!.storage;
    const reads = node.inputs.filter((n) => n !== "").map(storageOf);
    const writes = node.outputs.filter((n) => n !== "").map(storageOf);
    const temps = scratch.get(node.name)!;
    for (const r of reads) for (const w of writes) link(r, w);
    for (const t of temps) for (const other of [...reads, ...writes, ...temps]) link(t, other);
  });
  return conflicts;
}

/**
 * Assigns `arena` and `offset` to every storage: largest first, each into the gap (between
 * placed storages live at the same time) that fits it most tightly, preferring gaps that
 * grow no buffer, then the smallest growth. Returns the size of each arena buffer.
 */
function placeInArenas(
  storages: Storage[],
  conflicts: Map<string, Set<string>>,
  alignment: number,
  maxArenaBytes: number,
): number[] {
  const arenas: { size: number; placed: Storage[] }[] = [];
  const order = [...storages].sort((a, b) =>
    b.bytes - a.bytes || a.defStep - b.defStep || (a.id < b.id ? -1 : 1)
  );
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  for (const storage of order) {
    if (storage.bytes > maxArenaBytes) {
      throw new Error(
        `Value "${storage.id}" needs ${storage.bytes} bytes, more than the largest buffer ` +
          `the device allows (${maxArenaBytes} bytes)`,
      );
    }
    const avoid = conflicts.get(storage.id) ?? new Set();
    let best: { arena: number; offset: number; growth: number; gap: number } | undefined;
    const consider = (arena: number, offset: number, growth: number, gap: number) => {
      if (
        !best || growth < best.growth || (growth === best.growth && gap < best.gap)
      ) best = { arena, offset, growth, gap };
    };
    arenas.forEach((arena, index) => {
      if (arena.placed.some((p) => avoid.has(p.id))) return;
      const live = arena.placed
        .filter((p) => p.defStep <= storage.lastUse && storage.defStep <= p.lastUse)
        .sort((a, b) => a.offset! - b.offset!);
      let cursor = 0;
      for (const p of live) {
        const start = align(cursor);
        const leftover = p.offset! - start - storage.bytes;
        if (leftover >= 0) consider(index, start, 0, leftover);
        cursor = Math.max(cursor, p.offset! + p.bytes);
      }
      const start = align(cursor);
      if (start + storage.bytes <= maxArenaBytes) {
        const growth = Math.max(0, start + storage.bytes - arena.size);
        consider(index, start, growth, Math.max(0, arena.size - start - storage.bytes));
      }
    });
    consider(arenas.length, 0, storage.bytes, 0);
    const { arena, offset } = best!;
    if (arena === arenas.length) arenas.push({ size: 0, placed: [] });
    storage.arena = arena;
    storage.offset = offset;
    arenas[arena].placed.push(storage);
    arenas[arena].size = Math.max(arenas[arena].size, offset + storage.bytes);
  }
  return arenas.map((a) => a.size);
}

/** Max over steps of the bytes of `storages` live at that step. */
function liveBytesBound(storages: Storage[], steps: number): number {
  const live = new Array<number>(steps + 1).fill(0);
  for (const s of storages) {
    for (let step = Math.max(0, s.defStep); step <= s.lastUse; step++) live[step] += s.bytes;
  }
  return Math.max(0, ...live);
}

/**
 * The help text of the shard and queue options of `sample` / `evaluate` (issue 18), in a module
 * of its own so the CLI parser can list them without loading the queue.
 */
export const shardOptionsUsage = `Shards and queue (sample, evaluate):
  --shard i/n          draw only shard i of n (an even split of the indices); writes one shard
                       file into --shard-dir (default <out>.shards), then run "merge"
  --range from:to      the same for any index range
  --shard-dir DIR      the shared shard folder
  --queue URL --shards K   (sample) queue K shard jobs on Redis (BullMQ) for "worker"s, wait
                       for the merged result in --out (--detach: return at once)
  Sample j is keyed by (seed, j) alone: any shards and batch sizes merge to the same bytes.`;

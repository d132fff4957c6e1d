import si from 'systeminformation';

export interface HostSnapshot {
  cpuPercent: number;
  memoryPercent: number;
  filesystems: { mount: string; fs: string; usedPercent: number }[];
}

/** Pseudo filesystems that are always "full" or meaningless to alert on. */
const ignoredTypes = /^(overlay|squashfs|tmpfs|devtmpfs|proc|sysfs|cgroup2?|nsfs|iso9660)$/i;

/** CPU load, memory in use (not counting cache, like `free`'s "available"), and disk per filesystem. */
export async function hostSnapshot(): Promise<HostSnapshot> {
  const [load, mem, fsSize] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize()]);
  return {
    cpuPercent: round(load.currentLoad),
    memoryPercent: round(((mem.total - mem.available) / mem.total) * 100),
    filesystems: fsSize
      .filter((f) => f.size > 0 && !ignoredTypes.test(f.type))
      .map((f) => ({ mount: f.mount, fs: f.fs, usedPercent: round(f.use) })),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

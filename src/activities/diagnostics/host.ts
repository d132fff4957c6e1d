import si from 'systeminformation';
import type { HostFindings } from '../../domain/diagnostics/findings';

/** runbooks §6 P2 / §9: uptime, load, memory, disks and the top processes, as one snapshot. */
export async function hostDiagnostics(): Promise<HostFindings> {
  const [time, load, mem, fs, procs] = await Promise.all([
    si.time(),
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
    si.processes(),
  ]);
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return {
    uptimeSeconds: Math.round(Number(time.uptime)),
    cpuPercent: r1(load.currentLoad),
    loadAverage: load.avgLoad,
    memory: {
      totalMb: Math.round(mem.total / 2 ** 20),
      availableMb: Math.round(mem.available / 2 ** 20),
      usedPercent: r1(((mem.total - mem.available) / mem.total) * 100),
    },
    disks: fs.filter((f) => f.size > 0).map((f) => ({ mount: f.mount, usedPercent: r1(f.use) })),
    topProcesses: [...procs.list]
      .sort((a, b) => b.cpu - a.cpu)
      .slice(0, 10)
      .map((p) => ({
        pid: p.pid,
        name: p.name,
        cpu: r1(p.cpu),
        memPercent: r1(p.mem),
        command: p.command.slice(0, 120),
      })),
  };
}

import si from 'systeminformation';

/**
 * Bytes per second read and written by the host's filesystems since the previous call in this
 * process; undefined on the first call (no interval yet) and where the OS does not say.
 */
export async function diskIo(): Promise<{ readBytesPerSec?: number; writeBytesPerSec?: number }> {
  const s = await si.fsStats().catch(() => undefined);
  const num = (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined);
  return { readBytesPerSec: num(s?.rx_sec), writeBytesPerSec: num(s?.wx_sec) };
}

// Where each member's header sits in a tar archive, for tests that corrupt them.
export interface MemberLayout { name: string; header: number; size: number }

export function tarMembers(tar: Buffer): MemberLayout[] {
  const out: MemberLayout[] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    if (tar.subarray(at, at + 512).every((b) => b === 0)) break;
    const name = tar.toString('utf8', at, tar.indexOf(0, at));
    const size = parseInt(tar.toString('latin1', at + 124, at + 136).replace(/\0.*$/, '').trim(), 8);
    out.push({ name, header: at, size });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

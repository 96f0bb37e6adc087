// What the addon exports to the dynamic linker. The dynamic linker binds a GNU unique symbol (GCC
// makes one of every inline variable of default visibility) once for the whole process, even
// across libraries loaded RTLD_LOCAL as Node loads addons: when the binding's op tables were such
// symbols, a second copy of normkit in one process (two versions in one dependency tree) ran
// with the first copy's tables, argument layout and kernels. Built with -fvisibility=hidden
// (binding.gyp), the addon exports its Node-API entry points and nothing of normkit's own.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { REPO_ROOT } from './helpers/tensors';

interface DynamicSymbol {
  name: string;
  binding: 'local' | 'global' | 'weak' | 'unique' | number;
  defined: boolean;
  defaultVisibility: boolean;
}

/** The dynamic symbol table (.dynsym) of a 64-bit little-endian ELF file. */
function dynamicSymbols(file: string): DynamicSymbol[] {
  const b = fs.readFileSync(file);
  expect(b.readUInt32BE(0), `${file} is an ELF file`).to.equal(0x7f454c46);
  expect(b[4], `${file} is 64-bit`).to.equal(2);
  expect(b[5], `${file} is little-endian`).to.equal(1);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      type: b.readUInt32LE(at + 4),
      offset: Number(b.readBigUInt64LE(at + 0x18)),
      size: Number(b.readBigUInt64LE(at + 0x20)),
      link: b.readUInt32LE(at + 0x28),
      entsize: Number(b.readBigUInt64LE(at + 0x38)),
    };
  };
  const SHT_DYNSYM = 11;
  const bindings = { 0: 'local', 1: 'global', 2: 'weak', 10: 'unique' } as const;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_DYNSYM) continue;
    const strings = section(s.link);
    const out: DynamicSymbol[] = [];
    for (let at = s.offset + s.entsize; at < s.offset + s.size; at += s.entsize) {
      const nameAt = strings.offset + b.readUInt32LE(at);
      const name = b.toString('latin1', nameAt, b.indexOf(0, nameAt));
      const info = b[at + 4];
      out.push({
        name,
        binding: bindings[(info >> 4) as keyof typeof bindings] ?? info >> 4,
        defined: b.readUInt16LE(at + 6) !== 0,
        defaultVisibility: (b[at + 5] & 3) === 0,
      });
    }
    return out;
  }
  throw new Error(`${file} has no dynamic symbol table`);
}

// The local build and every staged prebuild of this platform (whatever its libc tag).
const PREBUILDS = path.join('prebuilds', `${process.platform}-${process.arch}`);
const ADDONS = [
  path.join('build', 'Release', 'normkit.node'),
  ...(fs.existsSync(path.join(REPO_ROOT, PREBUILDS))
    ? fs
        .readdirSync(path.join(REPO_ROOT, PREBUILDS))
        .filter((f) => f.endsWith('.node'))
        .map((f) => path.join(PREBUILDS, f))
    : []),
].filter((f) => fs.existsSync(path.join(REPO_ROOT, f)));

describe('the addon’s exported symbols', function () {
  before(function () {
    if (process.platform !== 'linux' || ADDONS.length === 0) this.skip();
  });

  for (const file of ADDONS) {
    it(`${file} exports its Node-API entry points and nothing of normkit’s own`, () => {
      const exported = dynamicSymbols(path.join(REPO_ROOT, file)).filter(
        (s) => s.defined && s.defaultVisibility && s.binding !== 'local',
      );
      const names = exported.map((s) => s.name);
      expect(names).to.include('napi_register_module_v1');
      // Mangled C++ names of namespace normkit contain "7normkit"; the rest are the C entry
      // points and what the C++ runtime shares between libraries (std type information).
      expect(names.filter((n) => n.includes('normkit'))).to.deep.equal([]);
      for (const s of exported) {
        if (s.binding === 'unique')
          expect(s.name, s.name).to.match(/^_ZZNSt|^_ZNSt|^_ZTISt|^_ZTSSt/);
      }
    });
  }
});

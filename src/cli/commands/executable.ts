/** Finding a program the way a shell does: a path as is, a bare name through PATH. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path `name` runs, or undefined when it is not an executable file: a name with a slash is
 * taken as a path (relative to `cwd`), a bare name is looked up in each directory of `pathVar`.
 *
 * @example
 * findExecutable('etcd', process.env.PATH) // '/usr/bin/etcd'
 */
export function findExecutable(
  name: string,
  pathVar: string | undefined,
  cwd: string = process.cwd(),
): string | undefined {
  if (name === '') return undefined;
  if (name.includes('/')) {
    const p = isAbsolute(name) ? name : resolve(cwd, name);
    return isExecutableFile(p) ? p : undefined;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in a shell.
    const p = join(dir === '' ? cwd : resolve(cwd, dir), name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

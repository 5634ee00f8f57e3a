// What the loader read of the files a config names, as the build sees it: text by name, or why it could not be read.

/** A file's text by its name as written in the config, or why it could not be read. */
export type FileContents = ReadonlyMap<string, string | Error>;

/** The text of a file the loader read; an Error when it could not be read. */
export function fileText(contents: FileContents, name: string): string | Error {
  return contents.get(name) ?? new Error(`${name} was not read`);
}

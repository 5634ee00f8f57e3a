// A problem found in a config: where (a path in the YAML, or an already known location) and what.
export type ConfigPath = ReadonlyArray<string | number>;

export interface ConfigIssue {
  path: ConfigPath;
  message: string;
  /** Point at the key itself rather than its value (unknown keys). */
  atKey?: boolean;
  /** Already located (a problem in another file, e.g. a named policy file). */
  location?: string;
}

export interface LocatedIssue extends ConfigIssue {
  /** `file:line:column`, or the environment variable the value came from. */
  location: string;
}

// The loaders of @vallum/config under the names the CLI and tests use: `vallum validate`, start and reload load a
// config exactly as `loadConfigFile` does, policy checks included.
export { loadConfigFile as loadVallumConfig, loadConfigText as loadVallumConfigText } from '@vallum/config';

// The loaders of @vallum/config under the names the CLI and tests use: `vallum validate`, start and reload load a
// config exactly as `loadConfigFile` does, policy checks included; a reload parses a big file off the event loop.
export {
  loadConfigFile as loadVallumConfig,
  loadConfigFileOffThread as loadVallumConfigOffThread,
  loadConfigText as loadVallumConfigText,
} from '@vallum/config';

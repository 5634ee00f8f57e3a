// The listen address is checked when the config loads (so `vallum validate` reports it); start parses it the same way.
export { parseListenAddress } from '@vallum/config';

export { ERROR_CODE_INFO, ErrorCodes, isErrorCode, type ErrorCode, type ErrorCodeInfo } from './codes.js';
export { VallumError, isVallumError, type VallumErrorOptions } from './vallum-error.js';
export { errorsDocText } from './errors-doc.js';
export { suggest, didYouMean } from './suggest.js';

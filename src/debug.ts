import { debuglog } from 'node:util'

/**
 * Internal diagnostics, printed with NODE_DEBUG=adonis-tracking
 */
export default debuglog('adonis-tracking')

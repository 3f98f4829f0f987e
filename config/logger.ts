import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/core/logger'

/**
 * Plain JSON lines on stdout; quiet in tests unless LOG_LEVEL says otherwise
 */
const loggerConfig = defineConfig({
  default: 'app',
  loggers: {
    app: {
      enabled: true,
      name: env.get('APP_NAME', 'adonis-tracking-demo'),
      level: env.get('LOG_LEVEL', app.inTest ? 'warn' : 'info'),
    },
  },
})

export default loggerConfig

declare module '@adonisjs/core/types' {
  export interface LoggersList extends InferLoggers<typeof loggerConfig> {}
}

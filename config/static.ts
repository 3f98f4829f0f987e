import { defineConfig } from '@adonisjs/static'

/**
 * Serves demo/public (the `public` directory of adonisrc.ts), e.g. /assets/app.css
 */
const staticServerConfig = defineConfig({
  enabled: true,
  etag: true,
  lastModified: true,
  dotFiles: 'ignore',
})

export default staticServerConfig

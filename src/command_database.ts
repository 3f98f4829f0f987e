import type { ApplicationService } from '@adonisjs/core/types'
import type { Database } from '@adonisjs/lucid/database'
/* the container binding types of 'lucid.db' */
import type {} from '@adonisjs/lucid/database_provider'

/**
 * The app's Lucid `db` service and the connection an Ace command of the
 * package works on (`--connection`, default the primary one), or the
 * message naming a connection config/database.ts does not have
 */
export async function commandDatabase(
  app: ApplicationService,
  connection: string | undefined
): Promise<{ db: Database; connection: string; error?: undefined } | { error: string }> {
  const db = await app.container.make('lucid.db')
  const name = connection ?? db.primaryConnectionName
  if (!db.manager.has(name)) {
    return { error: `[tracking] "${name}" is not a connection of config/database.ts` }
  }
  return { db, connection: name }
}

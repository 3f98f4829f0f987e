/*
|--------------------------------------------------------------------------
| Commands loader (source mode)
|--------------------------------------------------------------------------
|
| The published build replaces this file: `adonis-kit index build/commands`
| generates build/commands/main.js and commands.json (bin/postcompile.ts).
| In source mode (`--conditions=tracking-source`), Ace gets the same
| loader shape from here: getMetaData() and getCommand(metaData).
|
*/

import { ListLoader } from '@adonisjs/core/ace'
import type { CommandMetaData } from '@adonisjs/core/types/ace'
import FlushPageViews from './flush_page_views.ts'
import TrackingImport from './import.ts'
import TrackingPrune from './prune.ts'
import TrackingRebuild from './rebuild.ts'

const loader = new ListLoader([FlushPageViews, TrackingPrune, TrackingRebuild, TrackingImport])

/**
 * Metadata of the package's commands
 */
export async function getMetaData() {
  return loader.getMetaData()
}

/**
 * The command class for its metadata (null when it is not ours)
 */
export async function getCommand(metaData: CommandMetaData) {
  return loader.getCommand(metaData)
}

/**
 * Folder of the templates `configure` writes into the app
 */
export const stubsRoot = import.meta.dirname

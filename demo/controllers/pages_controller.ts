import type { HttpContext } from '@adonisjs/core/http'

const POSTS = [
  { id: 1, title: 'Counting page views without cookies' },
  { id: 2, title: 'Moving counters from Redis into SQL exactly once' },
  { id: 3, title: 'Unique visitors with HyperLogLog' },
  { id: 4, title: 'Sources and channels from the Referer header' },
  { id: 5, title: 'UTM campaigns without a script' },
  { id: 6, title: 'Browsers, devices and languages from request headers' },
]

/**
 * The public pages of the demo
 */
export default class PagesController {
  home({ view }: HttpContext) {
    return view.render('pages/home', { posts: POSTS })
  }

  about({ view }: HttpContext) {
    return view.render('pages/about')
  }

  post({ view, params, response }: HttpContext) {
    const post = POSTS.find((entry) => String(entry.id) === String(params.id))
    if (!post) return response.notFound('No such post')
    return view.render('pages/post', { post })
  }

  pricing({ view }: HttpContext) {
    return view.render('pages/pricing')
  }

  account({ view, auth }: HttpContext) {
    return view.render('pages/account', { user: auth.getUserOrFail() })
  }

  boom() {
    throw new Error('Boom: the demo error page (500)')
  }
}

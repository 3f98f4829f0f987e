import { test } from '@japa/runner'
import { BROWSER_UA, loginAs, useTrackingManager } from '../helpers.ts'

/** Live views of today for the manager under test: path -> views */
async function todayViews(tracking: Awaited<ReturnType<typeof useTrackingManager>>) {
  await tracking.manager.drain()
  return tracking.manager.store.getDaily(tracking.manager.recorder.dayOf(Date.now()))
}

test.group('Recording through the demo app', () => {
  test('an authenticated GET 200 is counted with the user id as visitor', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager()
    cleanup(() => tracking.cleanup())
    const response = await loginAs(client.get('/about').header('user-agent', BROWSER_UA), 'user')
    response.assertStatus(200)
    const views = await todayViews(tracking)
    assert.deepEqual([...views], [['/about', 1]])
    const day = tracking.manager.recorder.dayOf(Date.now())
    assert.equal(await tracking.manager.store.getUniqueCount(day), 1)
  })

  test('anonymous traffic is skipped by default and counted with trackAnonymous', async ({
    client,
    assert,
    cleanup,
  }) => {
    const off = await useTrackingManager({ trackAnonymous: false })
    await client.get('/about').header('user-agent', BROWSER_UA)
    const before = await todayViews(off)
    assert.isUndefined(before.get('/about'))
    await off.cleanup()

    const on = await useTrackingManager({ trackAnonymous: true })
    cleanup(() => on.cleanup())
    await client.get('/about').header('user-agent', BROWSER_UA)
    await client.get('/about?utm_source=x').header('user-agent', BROWSER_UA)
    const views = await todayViews(on)
    assert.equal(views.get('/about'), 2)
    const day = on.manager.recorder.dayOf(Date.now())
    assert.equal(await on.manager.store.getUniqueCount(day), 1)
  })

  test('skipped prefixes, HEAD, POST, 404, 500, bots and prefetches are not counted', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ trackAnonymous: true })
    cleanup(() => tracking.cleanup())
    await client.get('/assets/app.css').header('user-agent', BROWSER_UA)
    await client.head('/about').header('user-agent', BROWSER_UA)
    await client.post('/logout').header('user-agent', BROWSER_UA).redirects(0)
    await client.get('/no-such-page').header('user-agent', BROWSER_UA)
    await client.get('/boom').header('user-agent', BROWSER_UA)
    await client
      .get('/about')
      .header('user-agent', 'Googlebot/2.1 (+http://www.google.com/bot.html)')
    await client.get('/about').header('user-agent', BROWSER_UA).header('sec-purpose', 'prefetch')
    const views = await todayViews(tracking)
    assert.deepEqual([...views], [])
  })

  test('301/302 are counted only with trackRedirects', async ({ client, assert, cleanup }) => {
    const off = await useTrackingManager({ trackAnonymous: true, trackRedirects: false })
    await client.get('/old-home').header('user-agent', BROWSER_UA).redirects(0)
    await client.get('/moved').header('user-agent', BROWSER_UA).redirects(0)
    const none = await todayViews(off)
    assert.equal(none.size, 0)
    await off.cleanup()

    const on = await useTrackingManager({ trackAnonymous: true })
    cleanup(() => on.cleanup())
    await client.get('/old-home').header('user-agent', BROWSER_UA).redirects(0)
    await client.get('/moved').header('user-agent', BROWSER_UA).redirects(0)
    const views = await todayViews(on)
    assert.equal(views.get('/old-home'), 1)
    assert.equal(views.get('/moved'), 1)
  })

  test('1,000 concurrent requests give exactly 1,000 views', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ trackAnonymous: true })
    cleanup(() => tracking.cleanup())
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        client.get(i % 2 ? '/about' : '/').header('user-agent', BROWSER_UA)
      )
    )
    assert.deepEqual([...new Set(responses.map((response) => response.status()))], [200])
    const views = await todayViews(tracking)
    let total = 0
    for (const count of views.values()) total += count
    assert.equal(total, 1000)
  }).timeout(60_000)
})

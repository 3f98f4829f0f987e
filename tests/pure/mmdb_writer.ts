/**
 * Writes a tiny MaxMind DB (format 2.0, IPv4 tree, 24-bit records) in memory,
 * so the geoip tests never download a database. Only what a country lookup
 * reads: each network maps to `{ country: { iso_code } }`.
 */

function encodeString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length >= 29) throw new Error('short strings only')
  return Buffer.concat([Buffer.from([(2 << 5) | bytes.length]), bytes])
}

function encodeUint(type: 5 | 6, value: number): Buffer {
  const bytes: number[] = []
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Buffer.from([(type << 5) | bytes.length, ...bytes])
}

function encodeUint64(value: number): Buffer {
  const bytes: number[] = []
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  /* extended type 9 - 7 = 2 */
  return Buffer.from([bytes.length, 2, ...bytes])
}

type Value = string | number | { uint64: number } | Value[] | { [key: string]: Value }

function encode(value: Value): Buffer {
  if (typeof value === 'string') return encodeString(value)
  if (typeof value === 'number') return encodeUint(value > 0xffff ? 6 : 5, value)
  if (Array.isArray(value)) {
    /* extended type 11 - 7 = 4 */
    return Buffer.concat([Buffer.from([value.length, 4]), ...value.map(encode)])
  }
  if ('uint64' in value && typeof value.uint64 === 'number') return encodeUint64(value.uint64)
  const entries = Object.entries(value as Record<string, Value>)
  return Buffer.concat([
    Buffer.from([(7 << 5) | entries.length]),
    ...entries.flatMap(([key, item]) => [encodeString(key), encode(item)]),
  ])
}

/** `{ '1.2.3.0/24': 'DE' }` as an MMDB file's bytes */
export function buildCountryMmdb(networks: Record<string, string>): Buffer {
  /* the data section: one record per country */
  const dataParts: Buffer[] = []
  const offsets = new Map<string, number>()
  let size = 0
  for (const code of new Set(Object.values(networks))) {
    const record = encode({ country: { iso_code: code } })
    offsets.set(code, size)
    dataParts.push(record)
    size += record.length
  }
  /* the tree: node 0 is the root; -1 = no data, ['data', code] = a leaf */
  type Child = number | { code: string } | null
  const nodes: [Child, Child][] = [[null, null]]
  for (const [network, code] of Object.entries(networks)) {
    const [address, bitsText] = network.split('/')
    const bits = Number(bitsText)
    const value = address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0)
    let node = 0
    for (let depth = 0; depth < bits; depth++) {
      const bit = Math.floor(value / 2 ** (31 - depth)) % 2
      if (depth === bits - 1) {
        nodes[node][bit] = { code }
        break
      }
      let next = nodes[node][bit]
      if (typeof next !== 'number') {
        next = nodes.length
        nodes.push([null, null])
        nodes[node][bit] = next
      }
      node = next
    }
  }
  const nodeCount = nodes.length
  const recordOf = (child: Child) =>
    child === null
      ? nodeCount
      : typeof child === 'number'
        ? child
        : nodeCount + 16 + offsets.get(child.code)!
  const tree = Buffer.alloc(nodeCount * 6)
  nodes.forEach(([left, right], index) => {
    tree.writeUIntBE(recordOf(left), index * 6, 3)
    tree.writeUIntBE(recordOf(right), index * 6 + 3, 3)
  })
  const metadata = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 4,
    database_type: 'Test-Country',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: { uint64: 1_700_000_000 },
    description: { en: 'test' },
  })
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...dataParts,
    Buffer.from('ABCDEF4D61784D696E642E636F6D', 'hex'),
    metadata,
  ])
}

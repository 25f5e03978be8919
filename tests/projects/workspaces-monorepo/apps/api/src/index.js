import express from 'express'
import { events } from './events.js'

const app = express()
const port = Number(process.env.PORT) || 8787

app.get('/api/health', (req, res) => res.json({ ok: true }))
app.get('/api/events', (req, res) => res.json(events))

app.listen(port, () => console.log(`api on http://localhost:${port}`))

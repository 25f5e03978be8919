import './style.css'

const list = document.querySelector('#tasks')

async function showTasks() {
  const response = await fetch('/api/tasks')
  const tasks = await response.json()
  list.innerHTML = tasks.map((t) => `<li><a href="/tasks/${t.id}">${t.title}</a></li>`).join('')
}

async function showTask(id) {
  const response = await fetch(`/api/tasks/${id}`)
  const task = await response.json()
  list.innerHTML = `<li>${task.title} (${task.done ? 'done' : 'open'})</li>`
}

const match = location.pathname.match(/^\/tasks\/(\d+)$/)
if (match) showTask(match[1])
else showTasks()

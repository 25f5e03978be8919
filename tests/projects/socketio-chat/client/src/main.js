import { io } from 'socket.io-client'

const socket = io()
const messages = document.querySelector('#messages')
const input = document.querySelector('#input')

document.querySelector('#form').addEventListener('submit', (event) => {
  event.preventDefault()
  if (input.value) socket.emit('chat message', input.value)
  input.value = ''
})

socket.on('chat message', (text) => {
  const item = document.createElement('li')
  item.textContent = text
  messages.appendChild(item)
})

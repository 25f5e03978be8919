export const events = [
  { name: 'Hackathon kickoff', when: 'Friday 18:00' },
  { name: 'Board games night', when: 'Tuesday 19:30' },
]

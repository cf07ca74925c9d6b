// the console's script, as the build names it: its content hash in the name
const app = document.getElementById('app');
for (const word of ['parameters', 'flags', 'providers', 'rollouts', 'alerts', 'audit']) {
  const section = document.createElement('section');
  section.textContent = `${word}: loading, loading, loading, loading, loading, loading`;
  app.append(section);
}

// tokens.jsx — the Tokens and keys view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Tokens and keys">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
